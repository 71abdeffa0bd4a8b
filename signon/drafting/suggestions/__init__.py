"""Suggestions (tracked changes): a team member edits in suggestion mode; each changed
passage is kept as a :class:`~signon.drafting.suggestions.models.Suggestion` with its
author, and a drafter accepts (a revision attributed to the suggestion's author) or
rejects it. A suggestion whose words changed meanwhile is flagged, never applied."""
