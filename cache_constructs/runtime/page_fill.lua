-- Fill a list page computed under generation G: it lands only if G is still current, read
-- atomically with the SET (a page computed across a bump stays out of L2, and the caller
-- keeps it out of L1 too). The caller's lease goes either way.
-- KEYS: 1 generation, 2 page, 3 page lease
-- ARGV: 1 G, 2 envelope, 3 ttl (ms), 4 lease token ('' = none held)
-- Returns 1 landed, 0 refused: the generation moved.
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) == ARGV[4] then
  redis.call('DEL', KEYS[3])
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
