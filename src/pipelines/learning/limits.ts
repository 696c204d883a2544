/**
 * Limits of the learning pipeline that its configuration (src/config.ts) enforces too, kept in a
 * file of their own without imports so that config.ts reads them without loading the pipeline.
 */

/**
 * Longest wall-clock budget any learning job may have, in seconds: a big job's `budget_seconds`,
 * TASKLOOM_LEARNING_BUDGET_SECONDS and the quick and deep budgets. The tasks' hard timeouts are
 * derived from it (deadline.ts, `hardTimeoutFor`), so a longer budget would be stopped by the
 * engine mid-run, retried and end `failed`: it is refused at submit and at start-up instead. The
 * seed stops at 10 minutes; an hour is the headroom above that.
 */
export const maxBudgetSeconds = 3600;
