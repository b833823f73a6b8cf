/** The no-colour stand-in for chalk used when the process has no terminal. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { IO } from '../src/ui/io.js';

describe('IO colours without a terminal', () => {
  it('styles, chains and colour models return the text unchanged; level is 0', () => {
    const io = new IO({ stdout: new PassThrough(), stderr: new PassThrough() });
    const { c, ce } = io;
    expect(c.level).toBe(0);
    expect(ce.level).toBe(0);
    expect(c.red('a')).toBe('a');
    expect(c.bold.green('b')).toBe('b');
    expect(ce.dim('x', 'y')).toBe('x y');
    expect(c.hex('#ff0000')('c')).toBe('c');
    expect(c.bgRgb(1, 2, 3).bold('d')).toBe('d');
    expect(`${c.yellow('e')}!`).toBe('e!');
  });
});
