--[[
  batch.lua: runs a batch of commands, in order, as one script: each as its own command would
  (its time, its events and seqs, what is due run at its end), with the state read once, written
  back once and one stream entry for the batch. A server sends the commands it has at hand as one
  batch: the fixed cost of a script (the call, reading the global state, the stream entry) is paid
  once per batch instead of once per command.
  ARGV[A]   the batch, one msgpack array of strings (one argument rather than hundreds: cheaper
            for Redis to take in, and for the server to write): how many commands, then per
            command its name (accept, finish…: one file each), its number on the calling server,
            its now ('' for this script's), how many arguments, then its arguments. The commands
            read their arguments from it (ARGV is set to it) as if they had been given as ARGV.
  Result    msgpack of { stream entry id ('' when no events), then per command { events ('' when
            none), starts (see startsOf), error ('' when none) } }: one string for Redis to send
            and the server to read, rather than a reply of a hundred parts. The stream entry:
            o (the server), c ("<number>:<event count>,…" of the commands with events), m (their
            events: one msgpack array per command, one after the other).
  Events are msgpack (cmsgpack.pack), not JSON: cjson formats every number with printf, which
  cost a quarter to a third of a handoff's time in Redis.
]]
ARGV = cmsgpack.unpack(ARGV[A])
local count = tonumber(ARGV[1])
local base = now
local results, started, packs, owned = {}, {}, {}, {}
local i = 2
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
    local packed = ''
    if #OUT > 0 then
      packed = cmsgpack.pack(OUT)
      packs[#packs + 1] = packed
      owned[#owned + 1] = no .. ':' .. #OUT
    end
    results[c] = { packed, {}, '' }
    started[c] = { STARTS, r or '' }
  end
  i = i + 4 + n
end
writeBack()
local entry = ''
if #packs > 0 then
  entry = redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'o', OWNER,
    'c', table.concat(owned, ','), 'm', table.concat(packs))
end
for c, s in pairs(started) do results[c][2] = startsOf(s[1], s[2]) end
local reply = { entry }
for c = 1, count do reply[c + 1] = results[c] end
return cmsgpack.pack(reply)
