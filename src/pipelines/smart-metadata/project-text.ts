/**
 * The project's text, as seed 003 builds it for the model: name, type, the course fields (school)
 * or the goal fields (self-study), the first 1,000 characters of each file's extracted text, and
 * the important dates; 4,000 characters in all. The offline analyser reads the same lines, so both
 * paths see exactly the same material.
 */
import type { Project } from './projects-store.ts';

/** The whole text is cut here (seed: 4,000 characters). */
export const maxProjectTextChars = 4000;
/** Characters taken from the start of each file's extracted text (seed: 1,000). */
export const fileExcerptChars = 1000;

export type SectionKind = 'name' | 'type' | 'course' | 'teacher' | 'goal' | 'frequency' | 'file' | 'dates';

export interface ProjectTextSection {
  kind: SectionKind;
  /** The line's label ("Goal"), shown before the content in the text. */
  label: string;
  /** The content after the label (cut when the 4,000 characters ran out inside it). */
  content: string;
}

export interface ProjectText {
  /** What the prompt carries: one `Label: content` line per section, at most 4,000 characters. */
  text: string;
  sections: ProjectTextSection[];
}

/** The elements a rich-text editor writes: only these are taken for markup and removed. */
const singleLetterElements = 'b|i|u|s|a';
const wordElements = 'html|head|body|p|div|span|br|hr|em|strong|small|sub|sup|mark|code|pre|blockquote|ul|ol|li|dl|dt|dd|h[1-6]|table|thead|tbody|tr|td|th|img|figure|figcaption|section|article|header|footer|nav|font|label';
/**
 * Markup a rich-text editor leaves in a field, told apart from text by a closing tag, or by an
 * opening tag (`<p>`, `<div class="x">`) of an element other than b, i, u, s and a, whose names
 * are variables as often: "a<b and c>d" stays as written.
 */
const looksLikeMarkup = new RegExp(`</(?:${singleLetterElements}|${wordElements})\\s*>|<(?:${wordElements})(?:\\s+[a-z-]+(?:=(?:"[^"]*"|'[^']*'|[^\\s>]+))?)*\\s*/?>`, 'i');
/** A tag of one of those elements; `vector<int>` and `Map<K, V>` are none. */
const htmlTag = new RegExp(`</?(?:${singleLetterElements}|${wordElements})\\b[^<>]*>`, 'gi');
const namedEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The text a person reads in a field: NFKC (an accent typed apart from its letter, a full-width
 * letter, read as the same word), markup reduced to its text, whitespace collapsed. Tags and
 * entities are no words of the project: stored, they became tags such as `div-class` and `amp`.
 */
function visibleText(value: string): string {
  let text = value.normalize('NFKC');
  if (looksLikeMarkup.test(text)) {
    text = text
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(htmlTag, ' ')
      .replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]+));/gi, (entity: string, decimal?: string, hex?: string, name?: string) => {
        const code = decimal !== undefined ? Number(decimal) : hex !== undefined ? Number.parseInt(hex, 16) : undefined;
        if (code !== undefined) return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : ' ';
        return namedEntities[name!.toLowerCase()] ?? entity;
      });
  }
  return text.replace(/\s+/g, ' ').trim();
}
const collapse = visibleText;

export function buildProjectText(project: Pick<Project, 'name' | 'project_type' | 'course_name' | 'course_code' | 'teacher' | 'goal_description' | 'study_frequency' | 'files' | 'important_dates'>): ProjectText {
  const candidates: ProjectTextSection[] = [
    { kind: 'name', label: 'Project', content: project.name },
    { kind: 'type', label: 'Type', content: project.project_type === 'school' ? 'school course' : 'self-study' },
  ];
  if (project.project_type === 'school') {
    if (project.course_name) candidates.push({ kind: 'course', label: 'Course', content: project.course_code ? `${project.course_name} (${project.course_code})` : project.course_name });
    else if (project.course_code) candidates.push({ kind: 'course', label: 'Course code', content: project.course_code });
    if (project.teacher) candidates.push({ kind: 'teacher', label: 'Teacher', content: project.teacher });
  } else {
    if (project.goal_description) candidates.push({ kind: 'goal', label: 'Goal', content: project.goal_description });
    if (project.study_frequency) candidates.push({ kind: 'frequency', label: 'Study frequency', content: project.study_frequency });
  }
  for (const file of project.files) {
    const excerpt = collapse(file.extracted_text.slice(0, fileExcerptChars));
    if (excerpt.length > 0) candidates.push({ kind: 'file', label: `File ${collapse(file.name)}`, content: excerpt });
  }
  if (project.important_dates.length > 0) {
    candidates.push({ kind: 'dates', label: 'Important dates', content: project.important_dates.map((entry) => `${entry.title} (${entry.date})`).join('; ') });
  }

  const sections: ProjectTextSection[] = [];
  const lines: string[] = [];
  let used = 0;
  for (const candidate of candidates) {
    const content = collapse(candidate.content);
    if (content.length === 0) continue;
    const separator = lines.length === 0 ? 0 : 1;
    const prefix = `${candidate.label}: `;
    const room = maxProjectTextChars - used - separator - prefix.length;
    if (room <= 0) break;
    const kept = content.length <= room ? content : content.slice(0, room);
    lines.push(`${prefix}${kept}`);
    sections.push({ ...candidate, content: kept });
    used += separator + prefix.length + kept.length;
    if (kept.length < content.length) break;
  }
  return { text: lines.join('\n'), sections };
}
