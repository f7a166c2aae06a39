-- Write-through of committed version V. Committing V makes every older version stale, so
-- tombstone.v becomes at least V - 1 (a late write-through of an older version, or a lagging
-- DAX/eventually consistent read of one, can then never land even if V's entry is evicted),
-- and the epoch is bumped so that fills which read the origin before this write are refused.
-- KEYS: 1 value, 2 tombstone
-- ARGV: 1 V, 2 envelope, 3 ttl (ms), 4 tombstone ttl (ms)
-- Returns 1 landed, -1 refused: V <= tombstone.v, -2 refused: V <= the cached version
-- Even when refused, a cached not-found entry is deleted: a committed write proves the item
-- exists (e.g. recreated at version 1 after a delete at version 5), so a 404 must not survive.
local v = tonumber(ARGV[1])
local stale_through = tonumber(redis.call('HGET', KEYS[2], 'v') or '-1')
if v - 1 > stale_through then
  redis.call('HSET', KEYS[2], 'v', v - 1)
end
redis.call('HINCRBY', KEYS[2], 'e', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local head = redis.call('GETRANGE', KEYS[1], 0, 24)
local cached = tonumber(string.match(head, '^(%-?%d+)|'))
if v <= stale_through then
  if cached ~= nil and cached < 0 then
    redis.call('DEL', KEYS[1])
  end
  return -1
end
if cached ~= nil and v <= cached then
  return -2
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
