import type { ComponentChildren } from 'preact';
import { linkClick } from '../lib/router.ts';

interface LinkProps {
  href: string;
  children: ComponentChildren;
  class?: string;
  title?: string;
  'aria-label'?: string;
  'aria-current'?: 'page' | undefined;
}

/** An in-app link: a real href (open in a new tab works), navigated without a reload. */
export function Link({ href, children, ...rest }: LinkProps) {
  return <a href={href} onClick={linkClick} {...rest}>{children}</a>;
}
