/**
 * Dashboard pages that pipelines bring: each pipeline folder may hold `dashboard/page.tsx`
 * exporting `page`, found here at build time, so adding a pipeline never edits the dashboard.
 * Pipeline pages import the dashboard's pieces through the `@dashboard/` alias (web/src).
 */
import type { JSX } from 'preact';
import type { Task, Waitpoint } from '../api/types.ts';

export interface DashboardPage {
  /** The header entry; `active` says whether a path belongs to this page. */
  navigation: { href: string; label: string; active: (path: string) => boolean };
  /** The page for `path`, or null when the path is not this page's. */
  render: (path: string) => JSX.Element | null;
  /**
   * How a task page shows a pending wait of this pipeline's tasks that is decided elsewhere (an
   * approvals inbox), in place of the completion form, which would only wake the task to look
   * again; null leaves the wait to the generic view.
   */
  waitpoint?: (waitpoint: Waitpoint, task: Task) => JSX.Element | null;
}

const modules = import.meta.glob<{ page: DashboardPage }>('../../../src/pipelines/*/dashboard/page.tsx', { eager: true });

/** In the order of their folders' names. */
export const pipelinePages: DashboardPage[] = Object.keys(modules).sort().map((file) => modules[file]!.page);

/** A pipeline's own view of a pending wait (`DashboardPage.waitpoint`), or null when none has one. */
export function pipelineWaitView(waitpoint: Waitpoint, task: Task): JSX.Element | null {
  for (const page of pipelinePages) {
    const view = page.waitpoint?.(waitpoint, task) ?? null;
    if (view) return view;
  }
  return null;
}
