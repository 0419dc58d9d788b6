/** The commands of the README's first shell block under "## Quick start", comments cut off. */
export function quickStartCommands(readme: string): string[];
