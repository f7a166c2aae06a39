-- Write-through of committed version V. Committing V makes every older version stale, so
-- fence.v becomes at least V - 1 (a late write-through of an older version, or a lagging
-- DAX/eventually consistent read of one, can then never land even if V's entry is evicted),
-- fence.k becomes at least V if the fence is anchored, and the epoch moves so that fills
-- which read the origin before this write are refused.
-- V lands only on an anchored fence (one a strongly consistent read vouched for): on a new or
-- recreated fence this write-through may be a late one whose successor's fence was evicted,
-- so it only clears what V proves stale and leaves the fill to the next (consistent) read.
-- A missing fence is created with a random epoch, unanchored.
-- KEYS: 1 value, 2 fence
-- ARGV: 1 V, 2 envelope, 3 ttl (ms), 4 fence ttl (ms), 5 random epoch for a new fence
-- Returns 1 landed, -1 refused: V <= fence.v or V < fence.k, -2 refused: V <= the cached
--         version, -4 refused: the fence is not anchored
-- When refused, a cached entry that V proves stale (not-found, or a version below V) is
-- deleted: a 404 or an old version must not survive an acknowledged write.
local v = tonumber(ARGV[1])
local fence = redis.call('HMGET', KEYS[2], 'e', 'v', 'k')
local stale_through = tonumber(fence[2] or '-1')
local committed = fence[3] and tonumber(fence[3])
if fence[1] then
  redis.call('HINCRBY', KEYS[2], 'e', 1)
else
  redis.call('HSET', KEYS[2], 'e', ARGV[5])
end
if v - 1 > stale_through then
  redis.call('HSET', KEYS[2], 'v', v - 1)
end
if committed and v > committed then
  redis.call('HSET', KEYS[2], 'k', ARGV[1])
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
local head = redis.call('GETRANGE', KEYS[1], 0, 24)
local cached = tonumber(string.match(head, '^(%-?%d+)|'))
local refused = 0
if v <= stale_through or (committed and v < committed) then
  refused = -1
elseif not committed then
  refused = -4
end
if refused ~= 0 then
  if cached ~= nil and (cached < 0 or cached < v) then
    redis.call('DEL', KEYS[1])
  end
  return refused
end
if cached ~= nil and v <= cached then
  return -2
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
