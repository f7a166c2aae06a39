-- Miss path of one item: the cached value, the tombstone, and a try for the fill lease.
-- KEYS: 1 value (pc:{p:<id>}:v), 2 tombstone (:t), 3 lease (:l)  -- one hash slot
-- ARGV: 1 lease token, 2 lease time-to-live (ms)
-- Returns {value or nil, tombstone.v ("-1" if none), tombstone.e ("0" if none), 1 if leased,
--          the lease's remaining time-to-live in ms (whoever holds it)}
local value = redis.call('GET', KEYS[1])
local tomb = redis.call('HMGET', KEYS[2], 'v', 'e')
local leased = redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2])
return {value, tomb[1] or '-1', tomb[2] or '0', leased and 1 or 0, redis.call('PTTL', KEYS[3])}
