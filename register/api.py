"""API v1: the calling hours of this host's register (SPEC §15, §16)."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from register.calling import Exemption, calling_window
from register.errors import api_errors

# Calling hours before CTM 2012 or centuries ahead answer no real question, and outside these
# years time zones show offsets in seconds (before 1940) or dates overflow.
EARLIEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(3000, 1, 1, tzinfo=datetime.UTC)


class MomentField(serializers.DateTimeField):
    """An ISO 8601 moment with its UTC offset: a wall-clock time alone names no moment."""

    default_error_messages = {
        "invalid": _("Give the moment in ISO 8601 with its offset, as 2025-03-29T22:00:00+01:00."),
        "naive": _("The moment has no offset; give it as 2025-03-29T22:00:00+01:00 or with Z."),
        "range": _("Give a moment from the year 2000 up to 2999."),
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        if not EARLIEST <= value < LATEST:
            self.fail("range")
        return value


class CallingWindowSpanSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class CallingWindowSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    window = CallingWindowSpanSerializer(
        allow_null=True, help_text="The window the moment lies in; null outside one or exempt."
    )
    next_allowed_at = serializers.DateTimeField(
        help_text="The moment asked for when allowed, else when the next window opens."
    )


class CallingWindowView(APIView):
    class QuerySerializer(serializers.Serializer):
        at = MomentField(
            required=False,
            help_text="ISO 8601 with offset, e.g. `2025-03-29T22:00:00+01:00`; default now.",
        )
        exempt = serializers.ChoiceField(
            choices=Exemption.choices,
            required=False,
            help_text="A concrete callback appointment or a call the consumer asked for: "
            "allowed at any time.",
        )

    @extend_schema(
        operation_id="calling_window",
        summary="Whether a telemarketing call is allowed at a moment, in the register's time zone",
        parameters=[QuerySerializer],
        responses={200: CallingWindowSerializer, **api_errors("invalid")},
    )
    def get(self, request):
        # A plain dict: DRF reads an empty form value as an absent one, but `at=` is no moment.
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        answer = calling_window(
            register=request.register,
            at=query.validated_data.get("at") or timezone.now(),
            exemption=query.validated_data.get("exempt"),
        )
        with timezone.override(request.register.zone):
            return Response(CallingWindowSerializer(answer).data)
