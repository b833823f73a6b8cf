/** The everyday commands over the key store (one registration line in cli.ts). */
export { keysCommand } from './keys.js';
export { cookiesCommand } from './cookies.js';
export { invalidCommand } from './invalid.js';
export { manageCommand } from './manage.js';
