"""My tasks, and project boards (board, sections, tasks in order)."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("tasks/mine/", placeholder("My tasks"), name="task.mine"),
    path("tasks/<uuid:pk>/done/", placeholder("Mark done"), name="task.done"),
    path("boards/", placeholder("Boards"), name="board.list"),
    path("boards/<uuid:pk>/", placeholder("Board"), name="board.detail"),
    path("boards/<uuid:pk>/move/", placeholder("Move card"), name="board.move"),
]
