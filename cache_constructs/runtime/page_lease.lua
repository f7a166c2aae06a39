-- Miss or refresh of one list page: the generation, the cached page, a try for its lease.
-- When the generation moved since the caller read it, nothing is leased: the caller starts
-- over under the new generation (the page key it holds is unreachable now).
-- KEYS: 1 generation, 2 page, 3 page lease  -- one hash slot ({c:<category>})
-- ARGV: 1 the generation the caller read, 2 lease token, 3 lease time-to-live (ms)
-- Returns {current generation (or "" if none), page or nil, 1 if leased, the lease's
--          remaining time-to-live in ms (whoever holds it)}
local generation = redis.call('GET', KEYS[1])
if generation ~= ARGV[1] then
  return {generation or '', false, 0, -2}
end
local leased = redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3])
return {generation, redis.call('GET', KEYS[2]), leased and 1 or 0, redis.call('PTTL', KEYS[3])}
