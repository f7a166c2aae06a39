-- Fill after an origin read of version R by a reader whose lease saw fence epoch E.
-- KEYS: 1 value, 2 fence, 3 lease
-- ARGV: 1 R (-1 = not found), 2 E, 3 envelope, 4 ttl (ms), 5 lease token ('' = none held),
--       6 1 if R came from a strongly consistent read (it anchors the fence), else 0,
--       7 fence time-to-live (ms): the fence outlives the value it guards
-- Returns 1 landed, 0 refused: fence gone or epoch moved, -1 refused: R is known stale
--        (R <= fence.v or R < fence.k), -2 refused: R older than the cached version,
--        -3 refused: not-found over a live entry
local token = ARGV[5]
if token ~= '' and redis.call('GET', KEYS[3]) == token then
  redis.call('DEL', KEYS[3])
end
local fence = redis.call('HMGET', KEYS[2], 'e', 'v', 'k')
if not fence[1] or tonumber(fence[1]) ~= tonumber(ARGV[2]) then
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
  if r <= tonumber(fence[2] or '-1') or (fence[3] and r < tonumber(fence[3])) then
    return -1
  end
  -- equal versions renew the entry's freshness (an SWR refresh that found no change)
  if cached ~= nil and r < cached then
    return -2
  end
  if ARGV[6] == '1' and (not fence[3] or r > tonumber(fence[3])) then
    redis.call('HSET', KEYS[2], 'k', ARGV[1])
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[7]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
return 1
