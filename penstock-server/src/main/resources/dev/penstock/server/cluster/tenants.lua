-- Penstock cluster mode: each instance tells what it charged to virtual keys, and hears what the
-- others did (docs/cluster.md#virtual-keys-across-instances). One hash per key; one field per
-- instance, overwritten each time: "window requests,window tokens,time ms,day,spent today,month,
-- spent this month". Fields of an instance that stopped telling count for one window more.
--
-- KEYS      one hash per key: penstock:{cluster}:k:<key id>
-- ARGV      instance, window ms, day (yyyy-mm-dd), month (yyyy-mm), then per key: requests,
--           tokens, spent today, spent this month
-- Returns   per key: others' window requests, others' window tokens, then the others' spend as
--           "instance,spent today,spent this month" strings for today's day and month, and "" last

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local window = tonumber(ARGV[2])
local day = ARGV[3]
local month = ARGV[4]
local out = {}
for k = 1, #KEYS do
  local a = 5 + (k - 1) * 4
  redis.call('HSET', KEYS[k], id,
      ARGV[a] .. ',' .. ARGV[a + 1] .. ',' .. now .. ',' .. day .. ',' .. ARGV[a + 2] .. ','
      .. month .. ',' .. ARGV[a + 3])
  redis.call('PEXPIRE', KEYS[k], 35 * 86400000)
  local flat = redis.call('HGETALL', KEYS[k])
  local requests, tokens = 0, 0
  local spends = {}
  for j = 1, #flat, 2 do
    if flat[j] ~= id then
      local p = {}
      for x in string.gmatch(flat[j + 1], '[^,]+') do p[#p + 1] = x end
      if tonumber(p[3]) >= now - window then
        requests = requests + tonumber(p[1])
        tokens = tokens + tonumber(p[2])
      end
      local today = (p[4] == day) and p[5] or '0'
      local thisMonth = (p[6] == month) and p[7] or '0'
      spends[#spends + 1] = flat[j] .. ',' .. today .. ',' .. thisMonth
    end
  end
  out[#out + 1] = tostring(requests)
  out[#out + 1] = tostring(tokens)
  for _, s in ipairs(spends) do out[#out + 1] = s end
  out[#out + 1] = ''
end
return out
