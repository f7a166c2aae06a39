-- Invalidate every cached page of a category: INCR its generation. A generation lost to
-- eviction restarts at a random value instead of 1, so old page keys are never reused.
-- KEYS: 1 generation (pc:{c:<category>}:g)
-- ARGV: 1 random start value
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCR', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
