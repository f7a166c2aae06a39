-- Miss or refresh of one item: the cached value, the fence, and a try for the fill lease.
-- A missing fence (never made, expired or evicted) is created here with a random epoch, so
-- an epoch read by one reader can never be matched again after the fence is lost.
-- KEYS: 1 value (pc:{p:<id>}:v), 2 fence (:t), 3 lease (:l)  -- one hash slot
-- ARGV: 1 lease token, 2 lease time-to-live (ms), 3 random epoch for a new fence,
--       4 fence time-to-live (ms)
-- Returns {value or nil, fence.e, fence.v ("-1" if none), fence.k ("" = not anchored),
--          1 if leased, the lease's remaining time-to-live in ms (whoever holds it)}
local value = redis.call('GET', KEYS[1])
local fence = redis.call('HMGET', KEYS[2], 'e', 'v', 'k')
local epoch = fence[1]
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[2], 'e', epoch)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
local leased = redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2])
return {value, epoch, fence[2] or '-1', fence[3] or '', leased and 1 or 0,
        redis.call('PTTL', KEYS[3])}
