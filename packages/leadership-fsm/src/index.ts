/**
 * Placeholder surface until the leadership FSM lands.
 */
export {};
