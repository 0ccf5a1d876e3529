"""The Twilio webhooks through Flask: signatures, dedupe, TwiML, texts arriving at once."""
