--[[
  batch.lua: runs a batch of commands, in order, as one script: each as its own command would
  (its time, its events and seqs, what is due run at its end), with the state read once, written
  back once and one stream entry for the batch. A server sends the commands it has at hand as one
  batch: the fixed cost of a script (the call, reading the global state, the stream entry) is paid
  once per batch instead of once per command.
  ARGV[A]   how many commands
  ARGV[A+1…] per command: its name (accept, finish…: one file each), its number on the calling
            server, its now ('' for this script's), how many arguments, then its arguments
  Result    { stream entry id ('' when no events), then per command { events JSON ('' when none),
            starts (see startsOf), error ('' when none) } }. The stream entry: o (the server),
            c ("<number>:<event count>,…" of the commands with events), e (their events, as one
            JSON array).
]]
local count = tonumber(ARGV[A])
local base = now
local results, started, jsons, owned = {}, {}, {}, {}
local i = A + 1
for c = 1, count do
  local name, no, cnow, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  now = base
  if cnow ~= '' then now = math.max(tonumber(cnow), G.last) end
  G.last = now
  OUT = {}
  STARTS = {}
  local r = OPS[name](i + 4, n)
  if type(r) == 'table' then
    results[c] = { '', {}, r.err }
  else
    runDue()
    local json = ''
    if #OUT > 0 then
      json = cjson.encode(OUT)
      jsons[#jsons + 1] = string.sub(json, 2, -2)
      owned[#owned + 1] = no .. ':' .. #OUT
    end
    results[c] = { json, {}, '' }
    started[c] = { STARTS, r or '' }
  end
  i = i + 4 + n
end
writeBack()
local entry = ''
if #jsons > 0 then
  entry = redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'o', OWNER,
    'c', table.concat(owned, ','), 'e', '[' .. table.concat(jsons, ',') .. ']')
end
for c, s in pairs(started) do results[c][2] = startsOf(s[1], s[2]) end
local reply = { entry }
for c = 1, count do reply[c + 1] = results[c] end
return reply
