"""Client front doors other than Anthropic's: OpenAI Chat Completions and Responses requests.

Each door normalises the client's request once into the engine's Anthropic form (the rules decide on
that), renders Anthropic answers and streams back in the client's format, and, for an upstream of the
client's own format, rebuilds the client's request with the rewrite applied (no double translation).
"""
