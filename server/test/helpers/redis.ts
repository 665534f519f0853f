/** The Redis the integration tests talk to: a real server (`.ci/run` starts one when absent). */
export const REDIS_URL = process.env['VIGIL_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
