/**
 * Brings what a pick shows into view. Where a layout stacks on a narrow screen, the form or
 * entry a pick opens sits below the list it was picked from, often a screen or more down, and
 * the tap seems to do nothing.
 */
import type { RefObject } from 'preact';

/** After the next frame (the pick rendered), scrolls `ref`'s element to the top if its top is out of view. */
export function revealAfterRender(ref: RefObject<HTMLElement | null>): void {
  requestAnimationFrame(() => {
    const element = ref.current;
    if (!element) return;
    const { top } = element.getBoundingClientRect();
    // Its top already on screen (a wide layout, side by side): leave the page where it is.
    if (top >= 0 && top < window.innerHeight * 0.75) return;
    element.scrollIntoView({ block: 'start' });
  });
}
