--[[
  set-global.lua: sets the global parallelism (FlowEngine.setGlobalParallelism) and gives the
  slots it frees to the keys waiting for one.
  ARGV[A]   the limit, '' for none (validated by the caller)
  Result    see batch.lua
]]
G.max = num(ARGV[A])
emitGlobalConfigured('$', G.max)
drainGlobal()
