-- Invalidation through version S (a stream record or a delete): fence.v = max(v, S), the
-- epoch moves (a missing fence is created with a random epoch, unanchored), the cached entry
-- goes if it is negative or its version <= S, and so does the fill lease (its holder's fill
-- would be refused anyway; the next reader may start at once).
-- KEYS: 1 value, 2 fence, 3 lease
-- ARGV: 1 S, 2 fence ttl (ms), 3 random epoch for a new fence
-- Returns 1 if the cached entry was deleted, else 0.
local s = tonumber(ARGV[1])
local fence = redis.call('HMGET', KEYS[2], 'e', 'v')
if fence[1] then
  redis.call('HINCRBY', KEYS[2], 'e', 1)
else
  redis.call('HSET', KEYS[2], 'e', ARGV[3])
end
if s > tonumber(fence[2] or '-1') then
  redis.call('HSET', KEYS[2], 'v', ARGV[1])
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('DEL', KEYS[3])
local head = redis.call('GETRANGE', KEYS[1], 0, 24)
local cached = tonumber(string.match(head, '^(%-?%d+)|'))
if cached ~= nil and (cached < 0 or cached <= s) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
