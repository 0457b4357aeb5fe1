package workers

// childEnv, when set, makes the test binary run as a worker process for the
// crash tests instead of running tests.
const childEnv = "OMQ_WORKERS_TEST_CHILD"

func runChild() int { return 2 }
