/**
 * The names of URL groups and queues: letters, digits, `.`, `_` and `-`, at most 128 (QStash's
 * rule for URL groups, used for queues too). A URL never fits: `:` and `/` are not allowed.
 */
const NAME = /^[A-Za-z0-9._-]{1,128}$/;
export const NAME_HELP = 'letters, digits, ".", "_" and "-", 1 to 128 characters';

export function isValidName(raw: string): boolean {
  return NAME.test(raw);
}
