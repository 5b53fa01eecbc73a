-- Penstock cluster mode: one call grants an instance leases on the deployments it names.
-- Atomic (one script), timed by Redis's own clock (TIME), so instance clocks do not matter.
-- Design and proofs: docs/decisions/0002-cluster-leases.md.
--
-- KEYS[1]   the cluster's meta hash: gen (the state's generation), born, seen:<instance>
-- KEYS[2..] one hash per deployment: tat/ttat (the cluster's request and token schedules),
--           r<b>/t<b> (requests/tokens granted in 250 ms bucket b), i:<instance> (its demand)
-- ARGV      instance, proposed generation, horizon ms, span ms, instances, settle ms, the
--           generation the instance knows ("" at its first call), then per
--           deployment: rpm, tpm, want requests, want tokens, priority (0 high .. 3 batch),
--           reported requests, reported tokens (signed corrections: refunds, usage), starts to
--           tell ("ms they go on counting:requests:tokens;..." — fallback starts, or every start
--           of the instance's window after a restart — or "")
-- Returns   {generation, held, then per deployment: count, first ms, interval ms, tokens,
--           window requests, window tokens, share, next ms} as strings (relative ms where noted)

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local id = ARGV[1]
local horizon = tonumber(ARGV[3])
local span = tonumber(ARGV[4])
local instances = tonumber(ARGV[5])
local settle = tonumber(ARGV[6])
local BUCKET = 250
-- A slot is granted up to one horizon ahead and may be used up to one horizon after its time:
-- the cluster counts each grant for the span plus both, and one bucket more for rounding.
local wspan = span + 2 * horizon + BUCKET
local keep = math.ceil(wspan + 60000)

local meta = KEYS[1]
local gen = redis.call('HGET', meta, 'gen')
local born
if not gen then
  gen = ARGV[2]
  born = now
  redis.call('DEL', meta)
  redis.call('HSET', meta, 'gen', gen, 'born', tostring(now))
else
  born = tonumber(redis.call('HGET', meta, 'born'))
end
redis.call('HSET', meta, 'seen:' .. id, tostring(now))
local stale = ARGV[7] ~= '' and ARGV[7] ~= gen
redis.call('PEXPIRE', meta, keep * 10)

-- A new generation's state knows nothing of what instances started before it: grants wait until
-- every instance re-seeded it, or the settle time passed.
local held = 0
if now - born < settle then
  local seen = 0
  local m = redis.call('HGETALL', meta)
  for j = 1, #m, 2 do
    if string.sub(m[j], 1, 5) == 'seen:' and tonumber(m[j + 1]) >= born then seen = seen + 1 end
  end
  if seen < instances then held = 1 end
end

local out = {gen, tostring(held)}
local bnow = math.floor(now / BUCKET)
local boldest = math.floor((now - wspan) / BUCKET)

for k = 2, #KEYS do
  local a = 8 + (k - 2) * 8
  local rpm = tonumber(ARGV[a])
  local tpm = tonumber(ARGV[a + 1])
  local wantR = tonumber(ARGV[a + 2])
  local wantT = tonumber(ARGV[a + 3])
  local prio = tonumber(ARGV[a + 4])
  local adjR = tonumber(ARGV[a + 5])
  local adjT = tonumber(ARGV[a + 6])
  local starts = ARGV[a + 7]
  if stale then
    -- What it tells belongs to a state that is gone (Redis restarted): it re-seeds this one with
    -- everything of its window, these included, once it sees the new generation.
    adjR, adjT, starts = 0, 0, ''
  end
  local key = KEYS[k]
  local h = {}
  local flat = redis.call('HGETALL', key)
  for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end

  -- The window: drop buckets that left it, sum the rest.
  local rb, tb = {}, {}
  local wr, wt = 0, 0
  local gone = {}
  for f, v in pairs(h) do
    local kind = string.sub(f, 1, 1)
    if kind == 'r' or kind == 't' then
      local b = tonumber(string.sub(f, 2))
      if b then
        if b < boldest then
          gone[#gone + 1] = f
        elseif kind == 'r' then
          rb[#rb + 1] = b; wr = wr + tonumber(v)
        else
          tb[#tb + 1] = b; wt = wt + tonumber(v)
        end
      end
    end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end

  -- Reported use: additions go to the newest bucket (counted longest: safe); refunds come off
  -- the oldest buckets first, never below zero (never off a later grant than the refunded one).
  local function add(kind, amount, buckets)
    if amount > 0 then
      redis.call('HINCRBYFLOAT', key, kind .. bnow, amount)
      return amount
    end
    local owed = -amount
    table.sort(buckets)
    local taken = 0
    for _, b in ipairs(buckets) do
      if owed <= 0 then break end
      local have = tonumber(h[kind .. b]) or 0
      local take = math.min(have, owed)
      if take > 0 then
        redis.call('HINCRBYFLOAT', key, kind .. b, -take)
        h[kind .. b] = tostring(have - take)
        owed = owed - take
        taken = taken + take
      end
    end
    return -taken
  end
  if adjR ~= 0 then wr = wr + add('r', adjR, rb) end
  if adjT ~= 0 then wt = wt + add('t', adjT, tb) end
  -- Starts told with how long they go on counting: each into the bucket that stops counting
  -- then (rounded later: safe), none later than now.
  for left, r, tk in string.gmatch(starts, '([%d.]+):([%d.]+):([%d.]+)') do
    local b = math.min(bnow, math.ceil((now + tonumber(left) - wspan) / BUCKET))
    if b >= boldest then
      redis.call('HINCRBYFLOAT', key, 'r' .. b, tonumber(r))
      redis.call('HINCRBYFLOAT', key, 't' .. b, tonumber(tk))
      wr = wr + tonumber(r)
      wt = wt + tonumber(tk)
    end
  end

  -- The split: instances report their demand; within the highest priority waiting anywhere,
  -- capacity is shared max-min fair (water-filling), and lower priorities get what is left.
  local interval = wspan / rpm
  local tinterval = wspan / tpm
  local capacity = horizon / interval
  local mine = 'i:' .. id
  local rec = h[mine]
  local tat_i, ttat_i = 0, 0
  if rec then
    local p = {}
    for x in string.gmatch(rec, '[^,]+') do p[#p + 1] = tonumber(x) end
    tat_i = p[4] or 0
    ttat_i = p[5] or 0
  end
  local groups = {}
  local gone_instances = {}
  for f, v in pairs(h) do
    if string.sub(f, 1, 2) == 'i:' and f ~= mine then
      local p = {}
      for x in string.gmatch(v, '[^,]+') do p[#p + 1] = tonumber(x) end
      if p[3] < now - 60000 then
        gone_instances[#gone_instances + 1] = f
      elseif p[3] >= now - 2 * horizon - 1000 and p[1] > 0 then
        groups[p[2]] = groups[p[2]] or {}
        table.insert(groups[p[2]], p[1])
      end
    end
  end
  if #gone_instances > 0 then redis.call('HDEL', key, unpack(gone_instances)) end
  local share = 0
  if wantR > 0 then
    groups[prio] = groups[prio] or {}
    table.insert(groups[prio], -wantR) -- mine, marked
    local left = capacity
    for level = 0, 3 do
      local g = groups[level]
      if g then
        table.sort(g, function(x, y) return math.abs(x) < math.abs(y) end)
        local n = #g
        for j, w in ipairs(g) do
          local fair = left / (n - j + 1)
          local give = math.min(math.abs(w), fair)
          if w < 0 then share = give / capacity end
          left = left - give
        end
      end
    end
  end

  local count, first, tokens = 0, now, 0
  local base = math.max(tonumber(h['tat']) or 0, now)
  local tbase = math.max(tonumber(h['ttat']) or 0, now)
  local nextMs = 0
  if wantR > 0 and share > 0 and held == 0 then
    local iint = interval / share
    local tint = tinterval / share
    local per = math.max(1, math.ceil(wantT / wantR))
    -- This instance's own schedules, at its share of the rate. The share changes from call to
    -- call, so at most one interval (one request's tokens) of its own debt carries over; the
    -- cluster's schedules and window carry everything.
    local base_i = math.max(math.min(tat_i, now + iint), now)
    local tbase_i = math.max(math.min(ttat_i, now + per * tint), now)
    if base <= now + horizon and base_i <= now + horizon
        and tbase <= now + horizon and tbase_i <= now + horizon then
      local room = math.floor((now + horizon - base) / interval) + 1
      local room_i = math.floor((now + horizon - base_i) / iint) + 1
      count = math.min(wantR, room, room_i, rpm - wr)
      count = math.min(count, math.floor((tpm - wt) / per))
      if count < 0 then count = 0 end
    end
    if count > 0 then
      first = base
      tokens = count * per
      h['tat'] = base + count * interval
      h['ttat'] = tbase + tokens * tinterval
      tat_i = base_i + count * iint
      ttat_i = tbase_i + tokens * tint
      redis.call('HSET', key, 'tat', tostring(h['tat']), 'ttat', tostring(h['ttat']))
      redis.call('HINCRBYFLOAT', key, 'r' .. bnow, count)
      redis.call('HINCRBYFLOAT', key, 't' .. bnow, tokens)
      wr = wr + count
      wt = wt + tokens
    else
      -- When asking again could be granted: the later schedule's free time, less one horizon.
      local free = math.max(base, tbase, base_i, tbase_i)
      if rpm - wr < 1 or tpm - wt < per then
        free = math.max(free, now + 1000) -- the window is full: buckets leave it over time
      end
      nextMs = math.max(20, free - horizon - now)
    end
  end
  redis.call('HSET', key, mine,
      tostring(wantR) .. ',' .. tostring(prio) .. ',' .. tostring(now) .. ','
      .. tostring(tat_i) .. ',' .. tostring(ttat_i))
  redis.call('PEXPIRE', key, keep)
  out[#out + 1] = tostring(count)
  out[#out + 1] = tostring(first - now)
  out[#out + 1] = tostring(interval)
  out[#out + 1] = tostring(tokens)
  out[#out + 1] = tostring(wr)
  out[#out + 1] = tostring(wt)
  out[#out + 1] = tostring(share)
  out[#out + 1] = tostring(nextMs)
end
return out
