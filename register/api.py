"""API v1: the calling hours of this host's register (SPEC §15, §16), and registration by the
operator's IVR with a staff key (SPEC §5)."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from register.authentication import HasStaffPermission, StaffApiKeyAuthentication
from register.calling import Exemption, calling_window
from register.desk import number_block_by_staff
from register.errors import DomainError, api_errors
from register.models import BlockedNumber, Channel
from register.services import numbers_parse

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


class StaffApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Tells the schema (and the docs' Authorize button) how StaffApiKeyAuthentication works."""

    target_class = "register.authentication.StaffApiKeyAuthentication"
    name = "StaffApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A staff key of this host's register (`Bearer dncstaff_…`), made with "
            "`create_staff_api_key` for a user of the `ivr` role.",
        }


class IvrRegistrationSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="E.164 digits, e.g. `31612345678`.")
    status = serializers.ChoiceField(
        choices=["registered", "widened", "already_registered"],
        help_text="`registered`: new to the register; `widened`: registered already, the "
        "categories asked for added; `already_registered`: registered already with them.",
    )
    registered_on = serializers.DateField()
    categories = serializers.ListField(
        child=serializers.CharField(),
        help_text="The categories the number is blocked for now; empty in a register without "
        "categories (one full block).",
    )


class IvrRegistrationView(APIView):
    """For the operator's IVR only: a staff key whose user has the `ivr` role in this register.
    Company keys are unknown here (401)."""

    authentication_classes = [StaffApiKeyAuthentication]
    permission_classes = [HasStaffPermission]
    required_permission = "register.register_by_ivr"

    class IvrRegistrationInputSerializer(serializers.Serializer):
        number = serializers.CharField(
            max_length=40, help_text="As the caller keyed it in or the line presented it."
        )
        categories = serializers.ListField(
            child=serializers.CharField(max_length=30),
            required=False,
            help_text="Category codes to block; absent or empty: all of them.",
        )

    @extend_schema(
        operation_id="ivr_register",
        summary="Register a caller's number by the phone channel (the operator's IVR)",
        request=IvrRegistrationInputSerializer,
        responses={
            201: IvrRegistrationSerializer,
            200: IvrRegistrationSerializer,
            **api_errors("invalid", "invalid_number", "invalid_categories", "permission_denied"),
        },
    )
    def post(self, request):
        register = request.register
        given = self.IvrRegistrationInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        parsed = numbers_parse(register=register, raw_numbers=[given.validated_data["number"]])
        if parsed.errors or not parsed.numbers:
            raise DomainError(
                parsed.errors[0] if parsed.errors else _("Give a telephone number."),
                code="invalid_number",
            )
        categories = given.validated_data.get("categories") or []
        unknown = sorted(set(categories) - set(register.categories))
        if unknown:
            raise DomainError(
                _("Unknown categories: %(codes)s.") % {"codes": ", ".join(unknown)},
                code="invalid_categories",
            )
        number = parsed.numbers[0]
        outcome = number_block_by_staff(
            register=register,
            number=number,
            categories=categories,
            actor=request.user.user,
            channel=Channel.PHONE,
        )
        blocked = BlockedNumber.objects.get(register=register, number=number)
        answer = {
            "number": str(number),
            "status": "registered"
            if number in outcome.blocked
            else "widened"
            if number in outcome.widened
            else "already_registered",
            "registered_on": blocked.registered_on,
            "categories": register.category_codes(blocked.categories),
        }
        # 201 when the call made a registration; 200 when the number was registered already.
        created = number in outcome.blocked
        return Response(
            IvrRegistrationSerializer(answer).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
