// Subjects of the bench's tokens: `sub` of user i. UUID-shaped, like Supabase user ids.
export const benchUserId = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
