"""A local Azure OpenAI data plane (Assistants v2 and Responses/Conversations) for the real `openai` SDK.

Start it with `python -m emulator` or, in-process, with `emulator.testing.run_emulator()`.
"""
