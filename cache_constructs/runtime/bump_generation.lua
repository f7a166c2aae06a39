-- Invalidate every cached page of a category: move its generation to
-- max(generation + 1, floor), floor = now_ms * 1024 + random (keys.generation_floor). A
-- generation lost to eviction restarts at the current time, so old page keys are never
-- reused, and every generation says when it began.
-- KEYS: 1 generation (pc:{c:<category>}:g)
-- ARGV: 1 floor
-- Returns the new generation.
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current ~= nil and current + 1 > tonumber(ARGV[1]) then
  return redis.call('INCR', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
