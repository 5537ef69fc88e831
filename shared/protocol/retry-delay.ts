import jsep from 'jsep';
import { InvalidRequest } from './invalid-request';

/**
 * `Upstash-Retry-Delay`: a math expression in milliseconds over the variable `retried`
 * (0 on the first retry) with + - * / %, parentheses and pow sqrt abs exp floor ceil round min max.
 * Parsed once into a closure; anything else (other names, members, strings) is refused.
 */
export class RetryDelayError extends InvalidRequest {}

type Fn = (retried: number) => number;

const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  pow: Math.pow,
  sqrt: Math.sqrt,
  abs: Math.abs,
  exp: Math.exp,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
  min: Math.min,
  max: Math.max,
};

const BINARY: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
};

function compile(node: jsep.Expression): Fn {
  switch (node.type) {
    case 'Literal': {
      const v = (node as jsep.Literal).value;
      if (typeof v !== 'number')
        throw new RetryDelayError(
          `only numbers are allowed, got ${String((node as jsep.Literal).raw)}`,
        );
      return () => v;
    }
    case 'Identifier': {
      const name = (node as jsep.Identifier).name;
      if (name !== 'retried')
        throw new RetryDelayError(`unknown name "${name}"; the only variable is retried`);
      return (r) => r;
    }
    case 'UnaryExpression': {
      const u = node as jsep.UnaryExpression;
      const arg = compile(u.argument);
      if (u.operator === '-') return (r) => -arg(r);
      if (u.operator === '+') return arg;
      throw new RetryDelayError(`operator "${u.operator}" is not allowed`);
    }
    case 'BinaryExpression': {
      const b = node as jsep.BinaryExpression;
      const op = BINARY[b.operator];
      if (op === undefined) throw new RetryDelayError(`operator "${b.operator}" is not allowed`);
      const left = compile(b.left);
      const right = compile(b.right);
      return (r) => op(left(r), right(r));
    }
    case 'CallExpression': {
      const c = node as jsep.CallExpression;
      const name = c.callee.type === 'Identifier' ? (c.callee as jsep.Identifier).name : '';
      const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
      if (fn === undefined) {
        throw new RetryDelayError(
          `unknown function "${name}"; use ${Object.keys(FUNCTIONS).join(', ')}`,
        );
      }
      const args = c.arguments.map(compile);
      return (r) => fn(...args.map((a) => a(r)));
    }
    default:
      throw new RetryDelayError(`"${node.type}" is not allowed in a retry delay`);
  }
}

/** Compiles an expression; throws RetryDelayError with what was wrong. */
export function parseRetryDelay(expression: string): Fn {
  if (expression.trim() === '') throw new RetryDelayError('Upstash-Retry-Delay is empty');
  if (expression.length > 500)
    throw new RetryDelayError('Upstash-Retry-Delay is longer than 500 characters');
  let ast: jsep.Expression;
  try {
    ast = jsep(expression);
  } catch (err) {
    throw new RetryDelayError(`Upstash-Retry-Delay does not parse: ${(err as Error).message}`);
  }
  try {
    return compile(ast);
  } catch (err) {
    if (err instanceof RetryDelayError)
      throw new RetryDelayError(`Upstash-Retry-Delay: ${err.message}`);
    throw err;
  }
}

/** Evaluates to a delay in whole ms, clamped to [0, 1 day]; NaN counts as 0. */
export function retryDelayMs(fn: Fn, retried: number): number {
  const v = fn(retried);
  if (!Number.isFinite(v)) return v === Infinity ? 86_400_000 : 0;
  return Math.min(86_400_000, Math.max(0, Math.round(v)));
}
