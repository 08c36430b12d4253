import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/**
 * Which passwords people may set (POST /api/users, PUT /api/users/{id}, the setup link and
 * TRIBUTARY_ADMIN_PASSWORD): at least 12 characters, not the username nor containing it, and not one
 * that an online guesser tries early. The last is zxcvbn's estimate with its common-password and word
 * lists (@zxcvbn-ts/core with @zxcvbn-ts/language-common): fewer than 10^6 guesses (its score 0 or 1)
 * means the password is on the list of common passwords, or is made of listed passwords, keyboard walks,
 * repetitions and sequences (`password1234`, `P@ssw0rd1234`, `1qaz2wsx3edc`, `qwertyuiop123`).
 * The dictionaries (≈2 MB) load on the first check, not at start-up.
 */

export const MIN_PASSWORD_LENGTH = 12;
/** Usernames shorter than this are too short for "contains the username" to mean anything. */
const MIN_CONTAINED_USERNAME = 3;
/** zxcvbn's score 2: at least 10^6 guesses. */
const MIN_GUESSES_LOG10 = 6;

let checker: Promise<ZxcvbnFactory> | undefined;

async function load(): Promise<ZxcvbnFactory> {
  const [{ ZxcvbnFactory }, common] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
  ]);
  return new ZxcvbnFactory({ dictionary: common.dictionary, graphs: common.adjacencyGraphs });
}

/** Why `password` may not be used by `username`, in plain words; undefined if it may. */
export async function passwordProblem(password: string, username?: string): Promise<string | undefined> {
  if (password.length < MIN_PASSWORD_LENGTH) return `expected at least ${MIN_PASSWORD_LENGTH} characters`;
  const name = username?.toLowerCase();
  const lower = password.toLowerCase();
  if (name && lower === name) return 'must not be the username';
  if (name && name.length >= MIN_CONTAINED_USERNAME && lower.includes(name))
    return 'must not contain the username';
  const z = await (checker ??= load().catch((err) => {
    checker = undefined;
    throw err;
  }));
  const result = z.check(password, username ? [username] : []);
  if (result.guessesLog10 < MIN_GUESSES_LOG10)
    return 'is too easy to guess: it is a common password, or made of common passwords, keyboard patterns or repeated characters; choose a longer, less predictable one (a few unrelated words work well)';
  return undefined;
}
