/** VERSION is the core version marker, used only until the core lands. */
export const VERSION = 1;
