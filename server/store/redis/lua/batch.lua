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
  Result    one msgpack array (one string for Redis to send and the server to read, rather than
            a reply of a hundred parts): the stream entry's id and its events ('' when no events),
            then per command its error ('' when none), how many events it had, how many starts it
            granted, and the starts (see startsOf).
  The stream entry: o (the server), v (the events, one msgpack array: per command with events its
  number, how many, the seq of the first, its now, then its events, each a type code, its key and
  its fields in the order of codec.ts's EVENT_SCHEMA). Positional rather than maps of fields:
  cheaper to make, to pack and to read. msgpack (cmsgpack.pack), not JSON: cjson formats every
  number with printf.
]]
ARGV = cmsgpack.unpack(ARGV[A])
local count = tonumber(ARGV[1])
local base = now
local results, starts, skips = {}, {}, {}
local i = 2
for c = 1, count do
  local name, no, cnow, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  now = base
  if cnow ~= '' then now = math.max(tonumber(cnow), G.last) end
  G.last = now
  STARTS = {}
  -- The command's header (four values) goes before its events, once it is known to have some.
  local h, seq0 = NOUT, G.seq
  NOUT = h + 4
  local r = OPS[name](i + 4, n)
  if type(r) == 'table' then
    -- Refused: it changed nothing and said nothing.
    for j = NOUT, h + 1, -1 do OUT[j] = nil end
    NOUT = h
    results[c] = r.err
  else
    runDue()
    local events = G.seq - seq0
    if events > 0 then
      OUT[h + 1] = tonumber(no)
      OUT[h + 2] = events
      OUT[h + 3] = seq0 + 1
      OUT[h + 4] = now
    else
      NOUT = h
    end
    results[c] = events
    starts[c] = STARTS
    skips[c] = r or ''
  end
  i = i + 4 + n
end
writeBack()
local reply, nr = { '', '' }, 2
if NOUT > 0 then
  local packed = cmsgpack.pack(OUT)
  reply[1] = redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'o', OWNER, 'v', packed)
  reply[2] = packed
end
for c = 1, count do
  local r = results[c]
  if type(r) == 'string' then
    reply[nr + 1], reply[nr + 2], reply[nr + 3] = r, 0, 0
    nr = nr + 3
  else
    reply[nr + 1], reply[nr + 2] = '', r
    nr = startsOf(reply, nr + 2, starts[c], skips[c])
  end
end
return cmsgpack.pack(reply)
