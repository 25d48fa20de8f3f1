/**
 * The Lua scripts the shared limit store runs in Redis (SPEC §12). Each runs
 * atomically: no other instance sees a half-made admission.
 *
 * The CPS limiters do in Lua exactly what the in-memory ones of
 * src/limits/rate-limiters.ts do, with the same state and the same floating-
 * point operations in the same order (numbers are stored with 17 significant
 * digits, so they come back bit for bit), so that on the same arrival times
 * they make the same admissions (an integration test checks it):
 *   tb  token bucket with tolerance τ (GCRA's τ): tokens and the last refill
 *   sw  sliding window: the admission times of the last window (a list)
 *   fw  fixed window: the window number and its count
 * A limiter is five ARGV values: algorithm, cps, burst, toleranceMs, windowMs
 * (the resolved parameters, defaults applied in TypeScript).
 *
 * Time: ARGV[1] is "now" in ms; empty means the Redis server's clock (TIME),
 * so that every instance reads the same clock.
 *
 * Leases: one sorted set per lease scope, member = lease id, score = the time
 * it expires unless heartbeated. Members whose score has passed are expired
 * and removed by whoever looks first (an admission, a sweep); the scripts
 * return them so that the instance can report them.
 */

const COMMON = `
local function fmt(x) return string.format('%.17g', x) end

local function now_ms(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

-- the limiter whose five parameters start at ARGV[i]
local function params(i)
  local p = { alg = ARGV[i], cps = tonumber(ARGV[i + 1]), burst = tonumber(ARGV[i + 2]), tol = tonumber(ARGV[i + 3]), window = tonumber(ARGV[i + 4]) }
  p.floor = -(p.tol * p.cps) / 1000
  if p.alg == 'tb' then
    if p.cps > 0 then p.ttl = math.ceil((p.burst - p.floor) / p.cps * 1000) + 60000 else p.ttl = 60000 end
  else
    p.ttl = math.ceil(p.window) + 60000
  end
  return p
end

-- ---------------------------------------------------------------- token bucket
local function tb_load(key)
  local v = redis.call('HMGET', key, 't', 'l')
  if v[1] then return { tokens = tonumber(v[1]), last = tonumber(v[2]) } end
  return nil
end

local function tb_refill(s, p, now)
  if s.last ~= nil and now > s.last then
    s.tokens = math.min(p.burst, s.tokens + ((now - s.last) / 1000) * p.cps)
    local whole = math.floor(s.tokens + 0.5)
    if math.abs(s.tokens - whole) < 1e-9 then s.tokens = whole end
  end
  if s.last == nil or now > s.last then s.last = now end
end

local function tb_save(key, s, p)
  redis.call('HSET', key, 't', fmt(s.tokens), 'l', fmt(s.last))
  redis.call('PEXPIRE', key, p.ttl)
end

-- ---------------------------------------------------------------- limiter operations (state in Redis)
local function lim_take(key, p, now)
  if p.alg == 'tb' then
    local s = tb_load(key) or { tokens = p.burst, last = nil }
    tb_refill(s, p, now)
    local ok = false
    if p.burst > 0 and s.tokens - 1 >= p.floor - 1e-9 then
      s.tokens = s.tokens - 1
      ok = true
    end
    tb_save(key, s, p)
    return ok
  elseif p.alg == 'sw' then
    while true do
      local first = redis.call('LINDEX', key, 0)
      if not first or tonumber(first) > now - p.window then break end
      redis.call('LPOP', key)
    end
    if redis.call('LLEN', key) >= p.burst then return false end
    redis.call('RPUSH', key, fmt(now))
    redis.call('PEXPIRE', key, p.ttl)
    return true
  else
    local w = math.floor(now / p.window)
    local v = redis.call('HMGET', key, 'w', 'c')
    local c = 0
    if v[1] and tonumber(v[1]) == w then c = tonumber(v[2]) end
    if c >= p.burst then
      redis.call('HSET', key, 'w', fmt(w), 'c', c)
      redis.call('PEXPIRE', key, p.ttl)
      return false
    end
    redis.call('HSET', key, 'w', fmt(w), 'c', c + 1)
    redis.call('PEXPIRE', key, p.ttl)
    return true
  end
end

-- undo the last take that succeeded (a later check refused the call)
local function lim_give_back(key, p, now)
  if p.alg == 'tb' then
    local s = tb_load(key) or { tokens = p.burst, last = nil }
    tb_refill(s, p, now)
    s.tokens = math.min(p.burst, s.tokens + 1)
    tb_save(key, s, p)
  elseif p.alg == 'sw' then
    redis.call('RPOP', key)
  else
    local w = math.floor(now / p.window)
    local v = redis.call('HMGET', key, 'w', 'c')
    local c = 0
    if v[1] and tonumber(v[1]) == w then c = tonumber(v[2]) end
    if c > 0 then c = c - 1 end
    redis.call('HSET', key, 'w', fmt(w), 'c', c)
  end
end

-- admissions available now, without changing anything; false when the limiter has no state
local function lim_available(key, p, now)
  if p.alg == 'tb' then
    local s = tb_load(key)
    if s == nil then return false end
    tb_refill(s, p, now)
    return fmt(math.max(0, math.floor(s.tokens * 1000) / 1000))
  elseif p.alg == 'sw' then
    if redis.call('EXISTS', key) == 0 then return false end
    local n = 0
    for _, t in ipairs(redis.call('LRANGE', key, 0, -1)) do
      if tonumber(t) > now - p.window then n = n + 1 end
    end
    return fmt(p.burst - n)
  else
    local v = redis.call('HMGET', key, 'w', 'c')
    if not v[1] then return false end
    if tonumber(v[1]) == math.floor(now / p.window) then return fmt(p.burst - tonumber(v[2])) end
    return fmt(p.burst)
  end
end

-- remove a lease set's expired members; append them to out
local function prune(key, now, out)
  local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    for _, m in ipairs(gone) do out[#out + 1] = m end
  end
end
`;

/**
 * Checks 12-14 at once.
 * KEYS: trunk limiter, [pooled limiter], lease sets…
 * ARGV: now, lease id, lease TTL (ms), has pooled (0|1), trunk limiter (5), [pooled limiter (5)], then a cap per lease set ('' = none)
 * Returns: {step, expired…}: step 0 admitted, 1 trunk CPS, 2 pooled CPS, 3 concurrency.
 */
export const ADMIT = `${COMMON}
local now = now_ms(ARGV[1])
local id = ARGV[2]
local ttl = tonumber(ARGV[3])
local pooled = ARGV[4] == '1'
local trunk_p = params(5)
local pooled_p = nil
local nk = 1
local ai = 10
if pooled then
  pooled_p = params(10)
  nk = 2
  ai = 15
end
local expired = {}
if not lim_take(KEYS[1], trunk_p, now) then return { 1 } end
if pooled and not lim_take(KEYS[2], pooled_p, now) then
  lim_give_back(KEYS[1], trunk_p, now)
  return { 2 }
end
for i = nk + 1, #KEYS do
  prune(KEYS[i], now, expired)
  local cap = ARGV[ai + (i - nk - 1)]
  if cap ~= '' and redis.call('ZCARD', KEYS[i]) >= tonumber(cap) then
    lim_give_back(KEYS[1], trunk_p, now)
    if pooled then lim_give_back(KEYS[2], pooled_p, now) end
    local r = { 3 }
    for _, m in ipairs(expired) do r[#r + 1] = m end
    return r
  end
end
for i = nk + 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, id)
  redis.call('PEXPIRE', KEYS[i], ttl * 2)
end
local r = { 0 }
for _, m in ipairs(expired) do r[#r + 1] = m end
return r
`;

/**
 * A lease alone (an inbound call: no CPS), in every set or none.
 * KEYS: lease sets…  ARGV: now, lease id, lease TTL (ms), then a cap per lease set ('' = none)
 * Returns: {step, expired…}: step 0 taken, 3 concurrency.
 */
export const LEASE = `${COMMON}
local now = now_ms(ARGV[1])
local id = ARGV[2]
local ttl = tonumber(ARGV[3])
local expired = {}
for i = 1, #KEYS do
  prune(KEYS[i], now, expired)
  local cap = ARGV[3 + i]
  if cap ~= '' and redis.call('ZCARD', KEYS[i]) >= tonumber(cap) then
    local r = { 3 }
    for _, m in ipairs(expired) do r[#r + 1] = m end
    return r
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, id)
  redis.call('PEXPIRE', KEYS[i], ttl * 2)
end
local r = { 0 }
for _, m in ipairs(expired) do r[#r + 1] = m end
return r
`;

/** KEYS: the lease's sets. ARGV: lease id. Returns how many sets held it. */
export const RELEASE = `
local n = 0
for i = 1, #KEYS do n = n + redis.call('ZREM', KEYS[i], ARGV[1]) end
return n
`;

/**
 * Heartbeat (or re-register, after a reconnect) live leases.
 * KEYS: lease sets. ARGV: now, TTL (ms), register (0|1), then per key: a count and that many lease ids.
 * A heartbeat only extends leases that are there (ZADD XX); registering adds them back.
 * Returns how many leases were extended or added.
 */
export const HEARTBEAT = `${COMMON}
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[2])
local register = ARGV[3] == '1'
local a = 4
local n = 0
for i = 1, #KEYS do
  local count = tonumber(ARGV[a])
  a = a + 1
  for j = 1, count do
    if register then
      n = n + redis.call('ZADD', KEYS[i], 'CH', now + ttl, ARGV[a])
    else
      n = n + redis.call('ZADD', KEYS[i], 'XX', 'CH', now + ttl, ARGV[a])
    end
    a = a + 1
  end
  if count > 0 then redis.call('PEXPIRE', KEYS[i], ttl * 2) end
end
return n
`;

/** KEYS: lease sets. ARGV: now. Removes and returns the expired members. */
export const SWEEP = `${COMMON}
local now = now_ms(ARGV[1])
local expired = {}
for i = 1, #KEYS do prune(KEYS[i], now, expired) end
return expired
`;

/**
 * Live state for GET /v1/trunks, changing nothing.
 * KEYS: limiters…, lease sets…  ARGV: now, number of limiters, the limiters' parameters (5 each).
 * Returns {available per limiter (false: no state)…, live leases per set…}.
 */
export const PEEK = `${COMMON}
local now = now_ms(ARGV[1])
local n = tonumber(ARGV[2])
local r = {}
for i = 1, n do r[#r + 1] = lim_available(KEYS[i], params(3 + (i - 1) * 5), now) end
for i = n + 1, #KEYS do r[#r + 1] = redis.call('ZCOUNT', KEYS[i], '(' .. fmt(now), '+inf') end
return r
`;
