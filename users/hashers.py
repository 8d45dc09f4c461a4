from django.contrib.auth.hashers import Argon2PasswordHasher


class PulseArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).

    Django's defaults (100 MiB, 8 lanes) cost ~160 ms per hash on our 2-core machines,
    which every sign-in and registration pays; OWASP's setting is the documented
    minimum for Argon2id and keeps a hash around 20 ms. Hashes made with other
    parameters still verify and are upgraded at the next sign-in.
    """

    memory_cost = 19 * 1024
    time_cost = 2
    parallelism = 1
