-- Fill after an origin read of version R that started when the tombstone epoch was E.
-- KEYS: 1 value, 2 tombstone, 3 lease
-- ARGV: 1 R (-1 = not found), 2 E, 3 envelope, 4 ttl (ms), 5 lease token ('' = none held)
-- Returns 1 landed, 0 refused: epoch moved, -1 refused: R <= tombstone.v,
--        -2 refused: R older than the cached version, -3 refused: not-found over a live entry
local token = ARGV[5]
if token ~= '' and redis.call('GET', KEYS[3]) == token then
  redis.call('DEL', KEYS[3])
end
local epoch = tonumber(redis.call('HGET', KEYS[2], 'e') or '0')
if epoch ~= tonumber(ARGV[2]) then
  return 0
end
local r = tonumber(ARGV[1])
local head = redis.call('GETRANGE', KEYS[1], 0, 24)
local cached = tonumber(string.match(head, '^(%-?%d+)|'))
if r < 0 then
  if cached ~= nil and cached >= 0 then
    return -3
  end
else
  local stale_through = tonumber(redis.call('HGET', KEYS[2], 'v') or '-1')
  if r <= stale_through then
    return -1
  end
  -- equal versions renew the entry's freshness (an SWR refresh that found no change)
  if cached ~= nil and r < cached then
    return -2
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
