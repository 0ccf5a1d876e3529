"""Mi Barrio: the Flask face (Twilio webhooks), the conversation engine and the staff commands.

The app factory is bot.app.create_app; this package itself imports nothing, so the worker can
use bot.config, bot.i18n, bot.channels, bot.render and bot.outbound without loading Flask.
"""
