--[[
  set-global.lua: sets the global parallelism (FlowEngine.setGlobalParallelism) and gives the
  slots it frees to the keys waiting for one.
  ARGV[A]   the limit, '' for none (validated by the caller)
  Result    see batch.lua
]]
G.max = num(ARGV[A])
emit({ seq = 0, at = 0, type = 'global:configured', key = '$', parallelism = nn(G.max) })
drainGlobal()
