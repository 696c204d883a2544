/**
 * Dashboard pages that pipelines bring: each pipeline folder may hold `dashboard/page.tsx`
 * exporting `page`, found here at build time, so adding a pipeline never edits the dashboard.
 * Pipeline pages import the dashboard's pieces through the `@dashboard/` alias (web/src).
 */
import type { JSX } from 'preact';

export interface DashboardPage {
  /** The header entry; `active` says whether a path belongs to this page. */
  navigation: { href: string; label: string; active: (path: string) => boolean };
  /** The page for `path`, or null when the path is not this page's. */
  render: (path: string) => JSX.Element | null;
}

const modules = import.meta.glob<{ page: DashboardPage }>('../../../src/pipelines/*/dashboard/page.tsx', { eager: true });

/** In the order of their folders' names. */
export const pipelinePages: DashboardPage[] = Object.keys(modules).sort().map((file) => modules[file]!.page);
