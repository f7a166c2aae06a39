-- Invalidation through version S (a stream record or a delete).
-- KEYS: 1 value, 2 tombstone, 3 lease
-- ARGV: 1 S, 2 tombstone ttl (ms)
-- Returns 1 if the cached entry was deleted, else 0.
local s = tonumber(ARGV[1])
local stale_through = tonumber(redis.call('HGET', KEYS[2], 'v') or '-1')
if s > stale_through then
  redis.call('HSET', KEYS[2], 'v', ARGV[1])
end
redis.call('HINCRBY', KEYS[2], 'e', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
local head = redis.call('GETRANGE', KEYS[1], 0, 24)
local cached = tonumber(string.match(head, '^(%-?%d+)|'))
if cached ~= nil and (cached < 0 or cached <= s) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
