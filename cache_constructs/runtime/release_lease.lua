-- Give up a fill lease this caller holds, without touching one another caller took since.
-- KEYS: 1 lease (an item's or a page's)
-- ARGV: 1 lease token
-- Returns 1 if the lease was ours and is gone, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
