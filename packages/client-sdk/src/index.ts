/**
 * Placeholder surface: this package is filled by a later issue (see its README).
 */
export {};
