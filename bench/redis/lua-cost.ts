/**
 * `npx tsx bench/redis/lua-cost.ts [batches] [runs] [perBatch]`: the Redis store's Lua alone, on
 * W5's load (one key of parallelism 10, 50 callers), without the network, the server or the work on
 * the machine in between: one EVAL holds the store's library (scripts.ts) and plays the closed
 * loop itself, batch after batch as a server would send them (the ten deliveries in flight
 * finish, the ten callers they belonged to accept a new message), timing them with TIME. Prints
 * µs per batch and per cycle (one accept and one finish), the best of `runs`. `perBatch` cycles
 * go in a batch (10 by default: the deliveries in flight all finish in one batch).
 *
 * To see where a batch's time goes, time parts of the Lua while measuring: the library can call
 * TT() (now, µs) and ACC(name, µs), and the sums per batch are printed. (Each TT() costs about a
 * microsecond itself.)
 *
 * Uses the Redis at REDIS_URL (127.0.0.1:6379 by default) under a prefix of its own, deleted at
 * the end; each run blocks that Redis for its length (about `batches` × 0.3 ms).
 */
import { Redis } from 'ioredis';
import { library } from '../../server/store/redis/scripts';
import { deletePrefix } from '../../server/store/redis/testing';
import { keyspace } from '../../server/store/redis/keys';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const batches = Number(process.argv[2] ?? 300);
const runs = Number(process.argv[3] ?? 5);
/** Cycles per batch (W5 has 10 deliveries in flight: 10 when they finish together). */
const perBatch = Number(process.argv[4] ?? 10);

const PAYLOAD = JSON.stringify({ destination: 'sim://bench', method: 'POST', headers: {} });

/** The library's functions kept in a table (FUNCS) instead of registered. */
const lib = library();
const body = lib.lua
  .replace(/^#!lua[^\n]*\n/, '')
  .replaceAll('redis.register_function(', 'register(');

const driver = `
local PT = {}
local function TT() local t = redis.call('TIME'); return tonumber(t[1]) * 1e6 + tonumber(t[2]) end
local function ACC(k, d) PT[k] = (PT[k] or 0) + d end
local FUNCS = {}
local function register(name, f) FUNCS[name] = f end
do
${body}
end
local batch = FUNCS['${lib.functions.batch}']
local space, owner, batches = KEYS[1], ARGV[1], tonumber(ARGV[2])
local PAYLOAD = ARGV[3]
local function header() return { '', owner, '30000', 'fifo', '8', '10000', '0' } end
local function call(list)
  local args = header()
  args[7] = cmsgpack.pack(list)
  return cmsgpack.unpack(batch({ space }, args))
end
local nextId, no = 0, 0
local function accept(list)
  nextId = nextId + 1
  no = no + 1
  local id = 'w5-' .. nextId
  local n = #list
  local args = { 'accept', tostring(no), '', '13', id, '1', 'w5', '1', '10', '', '', '3', '',
    PAYLOAD, '0', '', '' }
  for i = 1, #args do list[n + i] = args[i] end
end
local function finish(list, id, lease)
  no = no + 1
  local n = #list
  local args = { 'finish', tostring(no), '', '8', id, lease, '1', '200', '0', '', '', '0' }
  for i = 1, #args do list[n + i] = args[i] end
end
-- The starts of a reply: id and lease number of each.
local function startsOf(reply, into)
  if type(reply[2]) == 'table' then
    -- (The reply of earlier versions: per command { events, starts, error }.)
    for c = 2, #reply do
      local s = reply[c][2]
      for j = 1, #s, 6 do into[#into + 1] = { s[j], s[j + 3] } end
    end
    return
  end
  local i = 3
  while i <= #reply do
    local starts = reply[i + 2]
    for s = 0, starts - 1 do
      local at = i + 3 + s * 6
      into[#into + 1] = { reply[at], reply[at + 3] }
    end
    i = i + 3 + starts * 6
  end
end
local running = {}
local list = { 50 }
for c = 1, 50 do accept(list) end
startsOf(call(list), running)
local function T() local t = redis.call('TIME'); return tonumber(t[1]) * 1e6 + tonumber(t[2]) end
local cycles, t0 = 0, T()
local per = tonumber(ARGV[4])
local b = 0
while b < batches do
  local before = running
  running = {}
  local i = 1
  while i <= #before do
    local last = math.min(#before, i + per - 1)
    list = { (last - i + 1) * 2 }
    for j = i, last do
      finish(list, before[j][1], before[j][2])
      accept(list)
    end
    cycles = cycles + (last - i + 1)
    startsOf(call(list), running)
    b = b + 1
    i = last + 1
  end
end
local prof = {}
for k, v in pairs(PT) do prof[#prof + 1] = k .. '=' .. string.format('%.1f', v / batches) end
return { tostring(T() - t0), tostring(cycles), tostring(#running), table.concat(prof, ' ') }
`;

const redis = new Redis(url);
const prefix = `lua-cost-${Date.now()}:`;
try {
  let best = Infinity;
  let perCycle = 0;
  for (let r = 0; r < runs; r++) {
    await deletePrefix(prefix, url);
    const [us, cycles, running, prof] = (await redis.eval(
      driver,
      1,
      keyspace(prefix),
      'bench-server',
      batches,
      PAYLOAD,
      perBatch,
    )) as [string, string, string, string];
    if (prof !== '') console.log(prof);
    if (Number(running) !== 10)
      throw new Error(`${running} deliveries in flight at the end, not 10`);
    const usPerBatch = Number(us) / batches;
    if (usPerBatch < best) {
      best = usPerBatch;
      perCycle = Number(us) / Number(cycles);
    }
  }
  console.log(`${best.toFixed(1)} µs per batch, ${perCycle.toFixed(2)} µs per cycle`);
} finally {
  await deletePrefix(prefix, url);
  redis.disconnect();
}
