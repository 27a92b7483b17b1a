const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Escape text for HTML element content and quoted attribute values (the five specials only). */
export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, c => ESCAPES[c] ?? c)
}
