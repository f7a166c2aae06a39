-- Keep a fill lease alive while its holder's origin read runs, only if it is still ours.
-- KEYS: 1 lease (an item's or a page's)
-- ARGV: 1 lease token, 2 lease time-to-live (ms)
-- Returns 1 if renewed, 0 if the lease is gone or someone else's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
