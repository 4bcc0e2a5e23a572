// The Lua scripts that make limits exact across nodes: each runs atomically inside Redis, on Redis'
// own clock (TIME; allowed in writing scripts since Redis 5's effect replication), so N nodes never
// admit more than one would and node clocks do not matter. Same rules as one node's in-memory
// state (governance/limits.ts): requests per minute are a sliding log (one stamp per admitted
// request, exact), tokens per minute sit in one-second buckets (the estimate replaced by the real
// count at settlement), concurrency is a set of leases scored by expiry (a dead node's leases run
// out; live ones are renewed), a budget is the period's spend plus running requests' reservations.
//
// Keys of one subject share a hash tag ({subject}) so they stay in one slot.

/** KEYS: leases, reserved, rpm, tpm, spent.
 *  ARGV: lease, concurrency, rpm, tpm, tokens, budget usd (-1 = none), least usd, lease ttl ms,
 *  free ("1": a free candidate is usable, so the budget never refuses).
 *  Returns {refusal, waitMs, inFlight, requests, tokens, committed (string), second}; refusal is
 *  "" when admitted. */
export const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sec = tonumber(t[1])
local lease, conc, rpm, tpm = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local need, usd, least, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local free = ARGV[9] == '1'
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #dead do redis.call('HDEL', KEYS[2], dead[i]) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local inflight = redis.call('ZCARD', KEYS[1])
local count = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60000)
  count = redis.call('ZCARD', KEYS[3])
end
local used = 0
local buckets = {}
if tpm > 0 then
  local h = redis.call('HGETALL', KEYS[4])
  for i = 1, #h, 2 do
    local s = tonumber(h[i])
    if s <= sec - 60 then redis.call('HDEL', KEYS[4], h[i])
    else
      used = used + tonumber(h[i + 1])
      buckets[#buckets + 1] = {s, tonumber(h[i + 1])}
    end
  end
  if used < 0 then used = 0 end
end
local committed = 0
if usd >= 0 then
  local spent = redis.call('GET', KEYS[5])
  if not spent then return {'seed', 0, inflight, count, used, '0', sec} end
  committed = tonumber(spent)
  local r = redis.call('HVALS', KEYS[2])
  for i = 1, #r do committed = committed + tonumber(r[i]) end
end
local function refuse(why, wait) return {why, wait, inflight, count, used, tostring(committed), sec} end
if conc > 0 and inflight >= conc then return refuse('concurrency', 1000) end
if rpm > 0 and count >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return refuse('rpm', tonumber(oldest[2]) + 60000 - now)
end
if tpm > 0 then
  if need > tpm then return refuse('tpm_request', 60000) end
  if used + need > tpm then
    table.sort(buckets, function(a, b) return a[1] < b[1] end)
    local left = used
    for i = 1, #buckets do
      left = left - buckets[i][2]
      if left + need <= tpm then return refuse('tpm', math.max(0, (buckets[i][1] + 60) * 1000 - now)) end
    end
    return refuse('tpm', 60000)
  end
end
if usd >= 0 and not free and (committed >= usd - 1e-9 or committed + least > usd + 1e-9) then return refuse('budget', 0) end
if conc > 0 or least > 0 then
  redis.call('ZADD', KEYS[1], now + ttl, lease)
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
end
if least > 0 then
  redis.call('HSET', KEYS[2], lease, tostring(least))
  redis.call('PEXPIRE', KEYS[2], ttl * 2)
end
if rpm > 0 then
  redis.call('ZADD', KEYS[3], now, lease)
  redis.call('PEXPIRE', KEYS[3], 61000)
  count = count + 1
end
if tpm > 0 and need > 0 then
  redis.call('HINCRBY', KEYS[4], tostring(sec), need)
  redis.call('PEXPIRE', KEYS[4], 61000)
  used = used + need
end
if conc > 0 or least > 0 then inflight = inflight + 1 end
return {'', 0, inflight, count, used, tostring(committed), sec}
`;

/** KEYS: leases, reserved, tpm, then the spend keys of the periods the cost falls in.
 *  ARGV: lease, tpm second (0 = no tpm), estimate, tokens, cost usd. */
export const SETTLE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local second = tonumber(ARGV[2])
if second > 0 then
  local sec = tonumber(redis.call('TIME')[1])
  local estimate, tokens = tonumber(ARGV[3]), tonumber(ARGV[4])
  if second > sec - 60 and estimate ~= 0 then redis.call('HINCRBY', KEYS[3], ARGV[2], -estimate) end
  if tokens ~= 0 then redis.call('HINCRBY', KEYS[3], tostring(sec), tokens) end
  redis.call('PEXPIRE', KEYS[3], 61000)
end
if tonumber(ARGV[5]) > 0 then
  for i = 4, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBYFLOAT', KEYS[i], ARGV[5]) end
  end
end
return 1
`;

/** KEYS: lease sets; ARGV: ttl ms, then one lease per key. Renews this node's running leases. */
export const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ttl * 2)
end
return #KEYS
`;
