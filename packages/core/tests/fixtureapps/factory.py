"""Gunicorn's factory form: corral 'factory:create_app()' and 'factory:create_app("x")'."""


def create_app(greeting="factory"):
    body = greeting.encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    return app


not_callable = {"this": "is a dict"}
