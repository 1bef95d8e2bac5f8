"""A torch config module (torch._dynamo.config, torch._inductor.config): known keys with torch's
defaults, settable; an unknown key raises torch's AttributeError. ember compiles nothing, so the
values are kept for programs that read or set them and change nothing."""


class ConfigModule:
    def __init__(self, name, defaults):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", dict(defaults))

    def __getattr__(self, key):
        values = object.__getattribute__(self, "_values")
        if key in values:
            return values[key]
        raise AttributeError(f"{self._name}.{key} does not exist")

    def __setattr__(self, key, value):
        if key not in self._values:
            raise AttributeError(f"{self._name}.{key} does not exist")
        self._values[key] = value

    def __dir__(self):
        return sorted(self._values)
